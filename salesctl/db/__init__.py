"""Database layer: models, engine factory, migrations runner and query functions."""
