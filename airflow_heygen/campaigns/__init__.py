"""
Campaigns: one task drives thousands of HeyGen jobs, each paid once (``docs/campaigns.md``).

Imported when a campaign task runs, never when a DAG file is parsed.
"""
