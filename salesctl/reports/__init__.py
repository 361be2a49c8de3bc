"""Cost analytics: report queries over the rollups, savings, outcomes and budgets."""
