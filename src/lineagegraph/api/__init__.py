"""The HTTP surface: the GraphQL schema, the Starlette app, auth, limits and metrics."""
