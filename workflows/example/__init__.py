"""The bundled order example (validate, reserve, email, CRM, approval) and the ticket example."""
