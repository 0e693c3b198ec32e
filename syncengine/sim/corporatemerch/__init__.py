"""A CorporateMerch API simulator: ``simulator.CorporateMerchSim`` and the modules it is made of."""
