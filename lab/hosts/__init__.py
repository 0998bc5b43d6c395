"""Lab part: hosts."""
