-- OpenAI code interpreter sessions usage per bucket and project.
{{ openai_simple_usage('code_interpreter_sessions', 'num_sessions', per_project_only=true) }}
