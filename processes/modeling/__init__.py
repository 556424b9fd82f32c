"""The analyst's room (流程设计): process versions, visual diff, retirement, migration of running instances, export.

Nothing here imports Flask; the web pages (`webapp/modeler/`) and the command line (`hotline migrate`, `hotline
export`) call these functions with a session or the runtime, an actor and the clock's time.
"""
