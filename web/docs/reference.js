// Renders /openapi.json with Swagger UI, from this gateway only: no validator badge
// (it would call validator.swagger.io), no remote configuration, no telemetry.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#reference",
  validatorUrl: null,
  deepLinking: true,
  tryItOutEnabled: false,
  queryConfigEnabled: false,
  withCredentials: false,
  defaultModelsExpandDepth: 0,
  docExpansion: "list",
});
