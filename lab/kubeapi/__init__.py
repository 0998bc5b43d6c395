"""Lab part: kubeapi."""
