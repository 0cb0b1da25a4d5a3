-- OpenAI moderations usage per bucket and group (project, user, API key, model).
{{ openai_simple_usage('moderations', 'input_tokens') }}
