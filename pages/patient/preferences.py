"""The patient's message preferences (per channel: receive at all, marketing)
and their own contact details (phone and email)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.app_state import AppState
from components.forms import FormMixin, field, form_error, form_str, stacked_form, submit_button
from components.i18n import t
from components.layout import patient_layout
from components.patient_state import PatientState
from components.routing import page
from prm_saas.accounts.models import PrincipalKind
from prm_saas.accounts.patients import my_profile, update_my_contact
from prm_saas.messaging.models import Channel
from prm_saas.messaging.preferences import Consent, my_consents, set_my_consent
from prm_saas.validation import format_phone

CHANNELS = [str(c) for c in Channel]
CHANNEL_ICONS = {"email": "mail", "sms": "smartphone", "inapp": "inbox"}


class PreferencesState(FormMixin, PatientState):
    """Consent switches and the contact form."""

    receive: dict[str, bool] = dict.fromkeys(CHANNELS, True)  # channel -> on
    marketing: dict[str, bool] = dict.fromkeys(CHANNELS, False)  # channel -> on
    phone: str = ""
    email: str = ""
    form_key: int = 0  # bumps to re-mount the contact form with the stored values
    message_at: str = ""  # "consent" or "contact": where the last message shows

    def _show_consents(self, consents: list[Consent]) -> None:
        receive, marketing = dict(self.receive), dict(self.marketing)
        for c in consents:
            receive[c.channel], marketing[c.channel] = not c.blocked, c.marketing
        self.receive, self.marketing = receive, marketing

    def _refresh(self) -> Any:
        def read(s: Any, p: Any) -> tuple[list[Consent], str, str]:
            profile = my_profile(session=s, actor=p)
            return (
                my_consents(session=s, actor=p),
                format_phone(profile.phone),
                profile.email or "",
            )

        result, ev = self._run(PrincipalKind.PATIENT, read, self._fail)
        if result is not None:
            consents, self.phone, self.email = result
            self._show_consents(consents)
            self.form_key += 1
        return ev

    @rx.event
    def load(self) -> Any:
        """The signed-in patient's preferences."""
        self._clear()
        self.message_at = ""
        redirect = self._load(PrincipalKind.PATIENT)
        if redirect is not None or self.page_status != "ok":
            return redirect
        return self._refresh() or self._refresh_unread()

    def _set(self, channel: str, *, receive: bool, marketing: bool) -> Any:
        self._clear()
        ip, _ua = self._client()
        consent, ev = self._run(
            PrincipalKind.PATIENT,
            lambda s, p: set_my_consent(
                session=s,
                actor=p,
                channel=channel,
                marketing=bool(marketing),
                enabled=bool(receive),
                ip=ip,
            ),
            self._fail,
        )
        if consent is not None:
            self._show_consents([consent])
            self.notice = self.tr("prefs.saved")
        self.message_at = "consent"
        return ev

    @rx.event
    def set_receive(self, channel: str, value: bool) -> Any:
        """Receive messages on ``channel`` at all (the inbox cannot be turned off)."""
        return self._set(channel, receive=bool(value), marketing=self.marketing.get(channel, False))

    @rx.event
    def set_marketing(self, channel: str, value: bool) -> Any:
        """Health tips and offers on ``channel``."""
        return self._set(channel, receive=self.receive.get(channel, True), marketing=bool(value))

    @rx.event
    def save_contact(self, form: dict[str, Any]) -> Any:
        """Change the phone number and email address."""
        self._clear()
        ip, _ua = self._client()
        done, ev = self._run(
            PrincipalKind.PATIENT,
            lambda s, p: update_my_contact(
                session=s,
                actor=p,
                phone=form_str(form, "phone"),
                email=form_str(form, "email"),
                ip=ip,
            ),
            self._fail,
        )
        self.message_at = "contact"
        if ev is not None:
            return ev
        if done is not None:
            self.phone, self.email = format_phone(done.phone), done.email or ""
            self.form_key += 1
            self.notice = self.tr("prefs.contact_saved")
        return None


def _toggle_row(
    label: str, hint: str, checked: Any, on_change: Any, id: str, *, disabled: Any = False
) -> rx.Component:
    """A full-width row with its switch on the right: the whole row is the target."""
    return rx.el.label(
        rx.hstack(
            rx.vstack(
                rx.text(t(label), size="3"),
                rx.text(t(hint), size="1", color_scheme="gray"),
                spacing="0",
                flex="1",
            ),
            rx.switch(
                checked=checked,
                on_change=on_change,
                disabled=disabled,
                size="3",
                id=id,
            ),
            align="center",
            spacing="3",
            width="100%",
            min_height="52px",
            padding_y="6px",
        ),
        style={"display": "block", "cursor": "pointer", "width": "100%"},
    )


def _channel_card(channel: str) -> rx.Component:
    s = PreferencesState
    is_inapp = channel == str(Channel.INAPP)
    receive = True if is_inapp else s.receive[channel]
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(CHANNEL_ICONS[channel], size=18, color=AppState.tenant_color),
                rx.text(t(f"channel.{channel}"), weight="bold"),
                align="center",
                spacing="2",
            ),
            _toggle_row(
                "prefs.receive",
                "prefs.inapp_always" if is_inapp else "prefs.receive_hint",
                receive,
                s.set_receive(channel),
                f"receive-{channel}",
                disabled=is_inapp,
            ),
            rx.divider(),
            _toggle_row(
                "prefs.marketing",
                "prefs.marketing_hint",
                s.marketing[channel],
                s.set_marketing(channel),
                f"marketing-{channel}",
                disabled=False if is_inapp else ~s.receive[channel],
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        id=f"channel-{channel}",
    )


@page("/preferences", title="Preferences", on_load=PreferencesState.load)
def preferences_page() -> rx.Component:
    """Message preferences and contact details."""
    s = PreferencesState
    return patient_layout(
        rx.vstack(
            rx.heading(t("prefs.title"), size="6"),
            rx.cond(s.message_at != "contact", form_error(s, where="prefs")),
            rx.text(t("prefs.channels"), size="2", weight="bold", color_scheme="gray"),
            *[_channel_card(c) for c in CHANNELS],
            rx.text(t("prefs.service_note"), size="1", color_scheme="gray"),
            rx.text(
                t("prefs.contact"), size="2", weight="bold", color_scheme="gray", margin_top="8px"
            ),
            rx.card(
                rx.box(
                    stacked_form(
                        s.save_contact,
                        field(
                            s,
                            "common.phone",
                            "phone",
                            type="tel",
                            default_value=s.phone,
                            autocomplete="tel",
                        ),
                        field(
                            s,
                            "common.email",
                            "email",
                            default_value=s.email,
                            autocomplete="email",
                        ),
                        rx.text(t("prefs.contact_hint"), size="1", color_scheme="gray"),
                        # Next to the button the patient just tapped (field errors
                        # show under their fields).
                        rx.cond(s.message_at == "contact", form_error(s)),
                        submit_button("common.save", id="save-contact"),
                    ),
                    key=s.form_key,
                    width="100%",
                ),
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        active="preferences",
    )
