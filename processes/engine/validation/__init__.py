"""Validation of BPMN bundles (流程校验) for `hotline validate`, `hotline deploy` and the modeler.

`check.validate_bundle` runs every rule and returns a `Report` of `Problem`s (errors: cannot run; warnings: can
run, but …). Rule modules by concern: `xsd` (the BPMN 2.0 schema), `references` (messages, signals, data stores),
`flows` (sequence flows, gateways), `elements` (kinds, service and script tasks, timers, loops, call activities),
`roles` (who gets a human task), `pools` (the top process, several pools); `engine_errors` says the engine's own
refusals again in words. This package imports nothing that imports it back: `bundle` uses `references`.
"""
