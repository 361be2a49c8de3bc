"""The seed's analytics HTTP API (`salesctl serve`): FastAPI, an optional extra (`serve`).

Import `salesctl.api.app.create_app` only where FastAPI is installed; nothing here imports it.
"""
