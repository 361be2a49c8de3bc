"""The seed's import paths (`app.core.…` is `salesctl.core.…`), re-exporting the real code."""
