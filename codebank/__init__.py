"""The code bank: bots and code principles as git repositories."""
