"""Sample values shared by the render tests."""

SENDER = {"name": "Acme Growth", "email": "hello@acme.test",
          "postal_address": "Acme Inc., 1 Main Street, Springfield, USA"}
UNSUBSCRIBE_URL = "https://track.acme.test/u/tok123?l=42&s=7"
