"""Field maps: one module per CRM translating its raw records to canonical values and back."""
