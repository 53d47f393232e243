"""Writes of analytics: roll-up upkeep and input meters (each audited, in a transaction)."""
