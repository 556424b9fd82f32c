"""Supervision across instances (督办): instance search, heat maps, incidents, interventions and hand-overs.

Views here read the task projection, history, timer rows and case columns, never workflow snapshots, so they stay
fast over a hundred thousand instances; the commands they issue are the runtime's own (processes.runtime).
"""
