"""Billing services by concern: runs (start, compute, approve, supplementary), determinants
(the set-based statement), exports (CSV, fixed-width, JSON rows), the mirror (imports) and the
attributes (accounts, factors, cycles)."""


class BillingRefused(Exception):
    """A request the rules refuse (a locked run, the same person approving, ...): its message
    says why and is shown to the user as it is."""
