"""An Apollo.io REST API simulator: ``simulator.ApolloSim`` and the modules it is made of."""
