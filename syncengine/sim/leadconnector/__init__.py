"""A LeadConnector API simulator: ``simulator.LeadConnectorSim`` and the modules it is made of."""
