"""What every layer shares: the validated config, AWS names, errors, the target (AWS or
the sandbox) and the working directory. Imports nothing from the other layers."""
