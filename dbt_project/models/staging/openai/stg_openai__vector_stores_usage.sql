-- OpenAI vector stores usage per bucket and project.
{{ openai_simple_usage('vector_stores', 'usage_bytes', per_project_only=true) }}
