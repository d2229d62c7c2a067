"""Creating and changing the stack: the blueprint rendered to Terraform JSON, the engine
driver, state, and the one plan/apply pipeline that `up`, `pause --deep` and `destroy`
share; scaffold, cost and diagram read the same config."""
