"""What every domain shares: the declarative base and column types, the error hierarchy, the actor, slugs,
and the index-queue contract. `core` imports no other package of the project."""
