"""The route file (`hooktide.yaml`) and the environment (`Settings`), validated at start-up."""
