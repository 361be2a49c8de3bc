"""Query functions: plain async functions over an `AsyncSession` given as `session=`.

They never commit; the caller owns the transaction (`async with session.begin():`).
"""
