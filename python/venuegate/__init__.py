"""venuegate: exchange connectivity for HFT strategies — a native Rust core, a thin asyncio layer.

Public modules: `venuegate.auth` (request signing), `venuegate.fixed` (exact decimals),
`venuegate.model` (orders, fills, states), `venuegate.errors` (the error hierarchy).
"""

from venuegate._native import __version__

__all__ = ["__version__"]
