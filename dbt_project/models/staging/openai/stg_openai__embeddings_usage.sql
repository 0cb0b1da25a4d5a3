-- OpenAI embeddings usage per bucket and group (project, user, API key, model).
{{ openai_simple_usage('embeddings', 'input_tokens') }}
