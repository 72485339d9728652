"""The daily digest: build (pure), render, chart, jobs, scheduler (APScheduler)."""
