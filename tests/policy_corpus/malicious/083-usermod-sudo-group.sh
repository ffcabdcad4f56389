# Malicious: usermod -aG sudo grants the agent user administrator rights.
usermod -aG sudo agent
