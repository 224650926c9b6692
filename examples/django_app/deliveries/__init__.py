"""The app that stores the gateway's delivery statuses."""
