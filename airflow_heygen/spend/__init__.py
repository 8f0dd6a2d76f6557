"""
Spend control: what a HeyGen job will cost before it is created, caps that hold before any money is
spent, and what a run cost (``docs/spend.md``). Cheap to import: no HTTP library at module level.
"""
