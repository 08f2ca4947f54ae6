"""The order manager: state machine, journal, reconciliation, engine."""
