// Starts Swagger UI on this server's OpenAPI document (GET /api/docs). A file of its own: the
// server's content security policy allows no inline script.
window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({
    url: '/api/v1/openapi.json',
    dom_id: '#api-docs',
    deepLinking: true,
    // Nothing leaves this server: no validator badge calling validator.swagger.io.
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
