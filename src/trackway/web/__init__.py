"""Web: the static browser UI, which talks to the API over HTTP only."""
