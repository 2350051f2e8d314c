"""prm_saas: the Reflex app module and the domain packages."""
