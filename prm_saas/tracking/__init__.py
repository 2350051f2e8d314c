"""Opens, clicks and attribution of marketing messages (issue 6).

``links`` rewrites a marketing message's links to tracked ones at render time and
signs the email open pixel; ``services`` reads the outcome of a message source
(``message_stats``, ``conversions``) for the campaign report. The HTTP side is
``prm_saas.api.tracking``.
"""
