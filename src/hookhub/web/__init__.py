"""The dashboard (/ui) and consumer portal (/portal)."""
