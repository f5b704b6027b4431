"""A local deployment topology for trying jwtauth the way production runs it (see README.md)."""
