"""Leads and deals: input validation, CSV import, the operations behind `salesctl leads` and
`salesctl deals`, and their renderers.

Modules: `inputs` (validated input, stage/status lists), `leads` and `deals` (operations over
a caller's session), `csv_import`, `records` (what operations return), `render` (Rich views).
"""
