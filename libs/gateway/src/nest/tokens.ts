/** DI tokens. esbuild emits no decorator metadata, so every constructor parameter names its token with @Inject. */
export const SERVICES = Symbol('GatewayServices');
export const BATCH_API = Symbol('BatchApi');
export const OPENAPI_DOC = Symbol('OpenApiDocument');
