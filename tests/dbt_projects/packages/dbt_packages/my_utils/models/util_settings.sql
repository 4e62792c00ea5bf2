select {{ var('my_utils_multiplier') }} as multiplier, '{{ var('currency') }}' as currency, {{ times('4') }} as four_times
