"""HTTP: the app factory, the management API, lean serving/tracking routes and the dashboard."""
