"""Web pages for people: server-rendered Danish HTML on the same services as the JSON API."""
