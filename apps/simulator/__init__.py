"""UDIL MDC simulator."""
