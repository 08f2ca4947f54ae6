"""Venue trading adapters: `venuegate.venues.<venue>.Adapter`; the contract is in `base`."""
