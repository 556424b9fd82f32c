"""The workflow runtime (流程运行): one transaction per command, projections, definitions, timers and jobs, outbox.

`core.Runtime` is the composition root; `commands` and `control` are what callers run; `jobs` is what the scheduler
runs when a timer falls due.
"""
