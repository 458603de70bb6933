"""The `cloud` command line: a Typer app over the SDK, one module per resource group."""
