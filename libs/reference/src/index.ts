// Independent plain-TypeScript forward pass, used only by tests.
