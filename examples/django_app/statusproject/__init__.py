"""A minimal Django project that receives the gateway's delivery statuses."""
